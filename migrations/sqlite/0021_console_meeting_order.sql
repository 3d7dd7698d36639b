-- The console lists meetings of one state newest first: without this index a state of many
-- meetings (every confirmed one) was sorted whole for each page.
CREATE INDEX meetings_state_order_idx ON meetings (state, id);
