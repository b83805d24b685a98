-- Who made a user or a token (an administrator through the API), for the
-- audit log; NULL when made on the server's command line.
ALTER TABLE users ADD COLUMN created_by BIGINT REFERENCES users (id);
ALTER TABLE tokens ADD COLUMN created_by BIGINT REFERENCES users (id);
