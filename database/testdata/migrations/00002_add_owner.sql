-- +goose Up
ALTER TABLE items ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE items DROP COLUMN owner;
