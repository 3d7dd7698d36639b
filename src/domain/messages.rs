//! Every message the API answers with. The texts are the reference server's, so existing
//! clients that compare them keep working (docs/API-COMPATIBILITY.md); the names double as the
//! stable machine-readable `code` of error bodies.

/// A response message: its stable code and its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message {
    pub code: &'static str,
    pub text: &'static str,
}

macro_rules! messages {
    ($($name:ident = $text:expr;)*) => {
        $(pub const $name: Message = Message { code: stringify!($name), text: $text };)*
    };
}

messages! {
    ACCOUNT_ALREADY_CONFIRMED = "Account already confirmed.";
    ACCOUNT_ALREADY_CONFIRMED_AND_THANKS = "You have confirmed your account. Thanks!";
    AUTHORISATION_TOKEN_IS_MISSING = "The authorization token is missing!";
    CANT_ACCEPT_MENTOR_REQ_SENT_BY_USER = "You cannot accept a mentorship request sent by yourself.";
    CANT_ACCEPT_UNINVOLVED_MENTOR_RELATION = "You cannot accept a mentorship relation where you are not involved.";
    CANT_CANCEL_UNINVOLVED_REQUEST = "You cannot cancel a mentorship relation where you are not involved.";
    CANT_DELETE_UNINVOLVED_REQUEST = "You cannot delete a mentorship request that you did not create.";
    CANT_REJECT_UNINVOLVED_RELATION_REQUEST = "You cannot reject a mentorship relation where you are not involved.";
    COMMENT_FIELD_IS_MISSING = "Comment field is missing.";
    COMMENT_NOT_IN_STRING_FORMAT = "Comment must be in string format.";
    DESCRIPTION_FIELD_IS_MISSING = "Description field is missing.";
    EMAIL_EXPIRED_OR_TOKEN_IS_INVALID = "The confirmation link is invalid or the token has expired.";
    EMAIL_FIELD_IS_MISSING = "Email field is missing.";
    EMAIL_INPUT_BY_USER_IS_INVALID = "Your email is invalid.";
    END_DATE_FIELD_IS_MISSING = "End date field is missing.";
    END_TIME_BEFORE_PRESENT = "End date is invalid since date has passed.";
    FIELD_AVAILABLE_TO_MENTOR_IS_INVALID = "Field available_to_mentor is not valid.";
    FIELD_NEED_MENTORING_IS_NOT_VALID = "Field need_mentoring is not valid.";
    INVALID_END_DATE = "Validation error. End date represented by the timestamp is invalid.";
    MATCH_EITHER_MENTOR_OR_MENTEE = "Your ID has to match either Mentor or Mentee IDs.";
    MENTEE_ALREADY_IN_A_RELATION = "Mentee user is already in a relationship.";
    MENTEE_DOES_NOT_EXIST = "Mentee user does not exist.";
    MENTEE_ID_FIELD_IS_MISSING = "Mentee ID field is missing.";
    MENTEE_NOT_AVAIL_TO_BE_MENTORED = "Mentee user is not available to be mentored.";
    MENTORSHIP_RELATION_DOES_NOT_EXIST = "Mentorship relation does not exist.";
    MENTORSHIP_RELATION_REQUEST_DOES_NOT_EXIST = "This mentorship relation request does not exist.";
    MENTORSHIP_RELATION_WAS_ACCEPTED_SUCCESSFULLY = "Mentorship relation was accepted successfully.";
    MENTORSHIP_RELATION_WAS_CANCELLED_SUCCESSFULLY = "Mentorship relation was cancelled successfully.";
    MENTORSHIP_RELATION_WAS_DELETED_SUCCESSFULLY = "Mentorship relation was deleted successfully.";
    MENTORSHIP_RELATION_WAS_REJECTED_SUCCESSFULLY = "Mentorship relation was rejected successfully.";
    MENTORSHIP_RELATION_WAS_SENT_SUCCESSFULLY = "Mentorship relation was sent successfully.";
    MENTOR_ALREADY_IN_A_RELATION = "Mentor user is already in a relationship.";
    MENTOR_DOES_NOT_EXIST = "Mentor user does not exist.";
    MENTOR_ID_FIELD_IS_MISSING = "Mentor ID field is missing.";
    MENTOR_ID_SAME_AS_MENTEE_ID = "You cannot have a mentorship relation with yourself.";
    MENTOR_NOT_AVAILABLE_TO_MENTOR = "Mentor user is not available to mentor.";
    MENTOR_TIME_GREATER_THAN_MAX_TIME = "Mentorship relation maximum duration is 6 months.";
    MENTOR_TIME_LESS_THAN_MIN_TIME = "Mentorship relation minimum duration is 4 week.";
    NAME_INPUT_BY_USER_IS_INVALID = "Your name is invalid.";
    NEW_USERNAME_INPUT_BY_USER_IS_INVALID = "Your new username is invalid.";
    NOTES_FIELD_IS_MISSING = "Notes field is missing.";
    NOT_IN_MENTORED_RELATION_CURRENTLY = "You are not in a current mentorship relation.";
    NOT_PENDING_STATE_RELATION = "This mentorship relation is not in the pending state.";
    NO_DATA_FOR_UPDATING_PROFILE_WAS_SENT = "No data for updating profile was sent.";
    PASSWORD_FIELD_IS_MISSING = "Password field is missing.";
    PASSWORD_SUCCESSFULLY_UPDATED = "Password was updated successfully.";
    TASK_COMMENT_DOES_NOT_EXIST = "Task comment does not exist.";
    TASK_COMMENT_WAS_CREATED_SUCCESSFULLY = "Task comment was created successfully.";
    TASK_COMMENT_WAS_DELETED_SUCCESSFULLY = "Task comment was deleted successfully.";
    TASK_COMMENT_WAS_NOT_CREATED_BY_YOU = "You have not created the comment and therefore cannot modify it.";
    TASK_COMMENT_WAS_NOT_CREATED_BY_YOU_DELETE = "You have not created the comment and therefore cannot delete it.";
    TASK_COMMENT_WAS_UPDATED_SUCCESSFULLY = "Task comment was updated successfully.";
    TASK_COMMENT_WITH_GIVEN_TASK_ID_DOES_NOT_EXIST = "Task comment with given task id does not exist.";
    TASK_DOES_NOT_EXIST = "Task does not exist.";
    TASK_WAS_ACHIEVED_SUCCESSFULLY = "Task was achieved successfully.";
    TASK_WAS_ALREADY_ACHIEVED = "Task was already achieved.";
    TASK_WAS_CREATED_SUCCESSFULLY = "Task was created successfully.";
    TASK_WAS_DELETED_SUCCESSFULLY = "Task was deleted successfully.";
    TERMS_AND_CONDITIONS_ARE_NOT_CHECKED = "Terms and conditions are not checked.";
    TOKEN_HAS_EXPIRED = "The token has expired! Please, login again or refresh it.";
    TOKEN_IS_INVALID = "The token is invalid!";
    UNACCEPTED_STATE_RELATION = "This mentorship relation status is not in the accepted state.";
    USERNAME_FIELD_IS_MISSING = "The field username is missing.";
    USERNAME_INPUT_BY_USER_IS_INVALID = "Your username is invalid.";
    USER_ADMIN_STATUS_WAS_REVOKED = "User admin status was revoked.";
    USER_ASSIGN_NOT_ADMIN = "You don't have admin status. You can't assign other user as admin.";
    USER_CANNOT_BE_ASSIGNED_ADMIN_BY_USER = "You cannot assign yourself as an Admin.";
    USER_CANNOT_REVOKE_ADMIN_STATUS = "You cannot revoke your adminstatus.";
    USER_CANT_DELETE = "You cannot delete your account, since you are the only Admin left.";
    USER_CANT_REJECT_REQUEST_SENT_BY_USER = "You cannot reject a mentorship request sent by yourself.";
    USER_DOES_NOT_EXIST = "User does not exist.";
    USER_ENTERED_CURRENT_PASSWORD = "New password should not be same as the current password.";
    USER_ENTERED_INCORRECT_PASSWORD = "Current password is incorrect.";
    USER_HAS_NOT_VERIFIED_EMAIL_BEFORE_LOGIN = "Please verify your email before login.";
    USER_INPUTS_SPACE_IN_PASSWORD = "Password shouldn't contain spaces.";
    USER_IS_ALREADY_AN_ADMIN = "User is already an Admin.";
    USER_IS_INVOLVED_IN_A_MENTORSHIP_RELATION = "You are currently involved in a mentorship relation.";
    USER_IS_NOT_AN_ADMIN = "User is not an Admin.";
    USER_IS_NOW_AN_ADMIN = "User is now an Admin.";
    USER_NOT_FOUND = "User not found.";
    USER_NOT_INVOLVED_IN_THIS_MENTOR_RELATION = "You are not involved in this mentorship relation.";
    USER_REVOKE_NOT_ADMIN = "You don't have admin status. You can't revoke other admin user.";
    USER_SUCCESSFULLY_DELETED = "User was deleted successfully.";
    USER_SUCCESSFULLY_UPDATED = "User was updated successfully.";
    USER_USES_AN_EMAIL_ID_THAT_ALREADY_EXISTS = "A user with that email already exists.";
    USER_USES_A_USERNAME_THAT_ALREADY_EXISTS = "A user with that username already exists.";
    USER_WAS_CREATED_SUCCESSFULLY = "User was created successfully.A confirmation email has been sent via email. After confirming your email you can login.";
    WRONG_USERNAME_OR_PASSWORD = "Username or password is wrong.";
    INPUT_PAYLOAD_VALIDATION_FAILED = "Input payload validation failed";
    // Beyond the reference: the messages of the new endpoints and of the deviations.
    VERIFICATION_EMAIL_REQUESTED = "Check your email, a new verification email was sent.";
    LOGGED_OUT = "You have been logged out.";
    PASSWORD_RESET_REQUESTED = "If an account with that e-mail exists, we have sent it a password reset link.";
    PASSWORD_RESET_DONE = "Your password has been reset. You can now log in.";
    PASSWORD_RESET_TOKEN_INVALID = "The password reset link is invalid or has expired.";
    TOO_MANY_LOGIN_ATTEMPTS = "Too many failed login attempts. Try again later.";
    RECIPIENT_EMAIL_NOT_VERIFIED = "The other user has not verified their email yet.";
    PENDING_REQUEST_ALREADY_EXISTS = "There is already a pending mentorship request between these two users.";
    INVALID_RELATION_STATE = "Invalid relation_state. Use one of PENDING, ACCEPTED, REJECTED, CANCELLED, COMPLETED.";
    MALFORMED_REQUEST = "The browser (or proxy) sent a request that this server could not understand.";
    TEXT_CONTAINS_NUL = "Text fields must not contain the NUL character.";
    NOT_FOUND = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.";
    METHOD_NOT_ALLOWED = "The method is not allowed for the requested URL.";
    PAYLOAD_TOO_LARGE = "The data value transmitted exceeds the capacity limit.";
    DATABASE_UNAVAILABLE = "The service is unavailable for a moment. Try again shortly.";
    METRICS_NOT_ALLOWED = "Metrics are not available to this client.";
    UNSUPPORTED_MEDIA_TYPE = "The request body must be JSON (Content-Type: application/json).";
    INTERNAL_SERVER_ERROR = "Internal Server Error";
    SERVICE_UNAVAILABLE = "The server is busy. Try again shortly.";
    TIMEOUT = "The request took too long to process.";
    // Meetings and substitutes.
    MEETING_DOES_NOT_EXIST = "Meeting does not exist.";
    NOT_INVOLVED_IN_MEETING = "You are not involved in this meeting.";
    START_DATE_FIELD_IS_MISSING = "Start date field is missing.";
    MEETING_DATES_INVALID = "Validation error. The meeting dates must be UNIX timestamps.";
    MEETING_START_IN_PAST = "The meeting must start in the future.";
    MEETING_END_BEFORE_START = "The meeting must end after it starts.";
    MEETING_TOO_LONG = "A meeting lasts at most 8 hours.";
    MEETING_WAS_PROPOSED = "Meeting was proposed successfully.";
    MEETING_WAS_UPDATED = "Meeting was updated successfully.";
    MEETING_WAS_ACCEPTED = "Meeting was accepted successfully.";
    MEETING_WAS_DECLINED = "Meeting was declined successfully.";
    MEETING_WAS_CANCELLED = "Meeting was cancelled successfully.";
    ONLY_PROPOSER_CAN_EDIT_MEETING = "Only the member who proposed the meeting can edit it.";
    CANT_ANSWER_OWN_MEETING = "You cannot answer a meeting you proposed.";
    MEETING_NOT_PROPOSED = "This meeting is not in the proposed state.";
    MEETING_NOT_CANCELLABLE = "This meeting cannot be cancelled.";
    MEETING_ALREADY_STARTED = "This meeting has already started.";
    MENTOR_HAS_OVERLAPPING_MEETING = "The mentor already has a confirmed meeting at that time.";
    ONLY_TITULAR_MENTOR_CAN_INVITE = "Only the mentor of this meeting can invite a substitute.";
    USER_ID_FIELD_IS_MISSING = "User ID field is missing.";
    CANT_INVITE_YOURSELF = "You cannot invite yourself as a substitute.";
    CANT_INVITE_MENTEE = "The mentee cannot be the substitute.";
    SUBSTITUTE_NOT_VERIFIED = "The substitute has not verified their email yet.";
    SUBSTITUTE_NOT_AVAILABLE = "The substitute is not available to mentor.";
    MEETING_NOT_CONFIRMED = "Only a confirmed meeting can have a substitute.";
    SUBSTITUTE_ALREADY_ACCEPTED = "A substitute has already accepted this meeting.";
    SUBSTITUTE_WAS_INVITED = "Substitute was invited successfully.";
    NO_PENDING_INVITATION = "There is no pending substitute invitation for this meeting.";
    INVITATION_WAS_WITHDRAWN = "Substitute invitation was withdrawn successfully.";
    INVITATION_LINK_INVALID = "This invitation link is invalid.";
    INVITATION_LINK_EXPIRED = "This invitation link has expired.";
    INVITATION_FOR_ANOTHER_USER = "This invitation is for another user.";
    INVITATION_NOT_PENDING = "This invitation was already answered or is no longer valid.";
    SUBSTITUTE_ACCEPTED = "You are now the substitute mentor of this meeting.";
    SUBSTITUTE_REJECTED = "You declined to be the substitute mentor of this meeting.";
    SUBSTITUTE_IS_BUSY = "You already have a confirmed meeting at that time.";
    NO_PREFERENCES_SENT = "No preference to change was sent.";
    UNKNOWN_TIMEZONE = "Unknown time zone: use an IANA name like Europe/Lisbon.";
    PREFERENCES_UPDATED = "Preferences were updated successfully.";
    MEETING_AFTER_RELATION_END = "The meeting must end before the mentorship relation does.";
    MEETING_NOTES_UPDATED = "Meeting notes were updated successfully.";
    MEETING_NOT_CONFIRMED_FOR_NOTES = "Only the notes of a confirmed meeting that has not ended can be changed.";
    NOTES_FIELD_MISSING_FOR_MEETING = "Notes field is missing.";
    INVITEE_IS_BUSY = "That mentor already has a confirmed meeting at that time.";
    ONLY_MENTOR_OR_SUBSTITUTE_CAN_END = "Only the mentor of this meeting or its substitute can do this.";
    SUBSTITUTION_WAS_ENDED = "The substitution was ended: the mentor of the relation attends the meeting.";
    INVITATION_WITHDRAWN_NOTICE = "This invitation was withdrawn by the mentor.";
    INVITATION_REPLACED_NOTICE = "This invitation was replaced by a newer one.";
    INVITATION_EXPIRED_NOTICE = "This invitation has expired.";
    INVITATION_ANSWERED_NOTICE = "This invitation was already answered.";
    INVITATION_MEETING_CANCELLED_NOTICE = "The meeting of this invitation was cancelled.";
    INVITATION_ENDED_NOTICE = "This substitution has ended.";
    MEETING_NOT_OPEN_FOR_SUBSTITUTES = "Substitutes can be chosen only for a confirmed meeting that has not started.";
    IDEMPOTENCY_KEY_INVALID = "Invalid Idempotency-Key: use 1 to 255 printable ASCII characters.";
    IDEMPOTENCY_KEY_REUSED = "This Idempotency-Key was used for a different request: use a new key for a new request.";
    IDEMPOTENCY_KEY_IN_USE = "A request with this Idempotency-Key is still being processed: retry in a moment to get its answer.";
    INVALID_AUDIT_FILTER = "Invalid filter. actor_id is a member id; since and until are RFC 3339 times or UNIX seconds.";
    INVALID_MEETING_FILTER = "Invalid filter. state is one of proposed, confirmed, declined, cancelled, completed; substitute_status one of pending, accepted, rejected, withdrawn, replaced, expired.";
    CONSOLE_ADMINS_ONLY = "The console is for admins only.";
    CONSOLE_SIGN_IN_REQUIRED = "Please sign in.";
    CONSOLE_FORM_EXPIRED = "This form has expired: open the page again and resubmit.";
    CONSOLE_SIGNED_OUT = "You are signed out.";
    CONSOLE_SIGNED_OUT_EVERYWHERE = "You are signed out on every browser.";
    CONSOLE_ONLY_UNVERIFIED_CAN_BE_DELETED = "Only an account that was never verified can be deleted here.";
    CONSOLE_ACCOUNT_DELETED = "The unverified account was deleted.";
    CONSOLE_ALREADY_VERIFIED = "This account is already verified.";
    CONSOLE_VERIFICATION_QUEUED = "A new verification e-mail is on its way (at most 3 an hour).";
    CONSOLE_MAIL_RETRIED = "The mail will be tried again now.";
    CONSOLE_NOTHING_TO_RETRY = "There is no dead letter to retry.";
    CONSOLE_TEST_MAIL_QUEUED = "A test mail to you is queued: check your inbox and the outbox below.";
    CONSOLE_JOB_STARTED = "The job was started; its run appears below when it ends.";
    CONSOLE_UNKNOWN_JOB = "There is no such job.";
    CONSOLE_FIGURES_REFRESHED = "The figures were counted again.";
    // The member web app.
    ACCOUNT_DELETION_NOT_CONFIRMED = "Tick the box to confirm that your account is to be deleted.";
}
