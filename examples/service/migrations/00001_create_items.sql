-- The items of the example's API. Ids come from item_ids, one counter row
-- bumped in the transaction that inserts, so that they are never reused
-- and the same SQL runs on SQLite and PostgreSQL.
-- +goose Up
CREATE TABLE items (
	id BIGINT PRIMARY KEY,
	name TEXT NOT NULL
);
CREATE TABLE item_ids (last BIGINT NOT NULL);
INSERT INTO item_ids (last) VALUES (0);

-- +goose Down
DROP TABLE item_ids;
DROP TABLE items;
