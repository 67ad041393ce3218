-- Exports run as pg-boss jobs, like seals: a requested export is a job committed with its row, so one asked for
-- while the appliance (the process that writes the exports folder) was stopping runs when it is back.
-- `standard`: every export is its own job; the appliance takes one at a time (ffmpeg uses both cores).
SELECT pgboss.create_queue('recording.export', '{"policy":"standard","retryLimit":2,"retryDelay":30,"retryBackoff":true,"expireInSeconds":21600,"retentionMinutes":20160}'::json);
