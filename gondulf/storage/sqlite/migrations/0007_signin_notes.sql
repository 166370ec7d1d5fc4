-- What a sign-in's page shows after a form: the problem or notice the last step ended
-- with (JSON, opaque to storage). Every form answers with a redirect to the page of the
-- sign-in's current step, so a reload, a restored tab or Back shows that page again
-- instead of sending the form twice.

ALTER TABLE auth_sessions ADD COLUMN note TEXT;
