-- Export ciphertext lives with the process that writes exports (the appliance); the retention run (the worker)
-- destroys an export's key and records shredded_at. The appliance then removes the files and records when.
ALTER TABLE recording_exports ADD COLUMN files_removed_at timestamptz;
CREATE INDEX recording_exports_files_to_remove_idx ON recording_exports (shredded_at) WHERE shredded_at IS NOT NULL AND files_removed_at IS NULL;
