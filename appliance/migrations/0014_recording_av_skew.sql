-- The audio-video skew of each sealed media file after post-processing: the start of its audio relative to its
-- video as ffprobe reads the merged file, minus the offset the merge applied (from the .mjr first-packet times).
-- Null when the file lacks audio or video. Operators' metric only (kyc_av_skew_seconds); not part of the manifest.
ALTER TABLE recording_files ADD COLUMN av_skew_ms integer;
