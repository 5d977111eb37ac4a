-- +goose Up
ALTER TABLE items DROP COLUMN label; -- a comment: DROP TABLE in a comment is no statement
