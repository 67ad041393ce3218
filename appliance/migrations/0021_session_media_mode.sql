-- How the customer takes part: 'video' (camera and microphone, the default and what KYC needs), 'audio' (microphone
-- only, for a customer who declines video) or 'chat' (text only, no device opened). A service visit carries the mode
-- the customer asked for when transferring; accepting copies it to the case's invitation; the device check sets the
-- invitation's final mode; admission copies it to the call, where the seal's completeness check and the KYC steps
-- read it. Existing rows were all video.
ALTER TABLE service_visits ADD COLUMN media_mode text NOT NULL DEFAULT 'video' CHECK (media_mode IN ('video', 'audio', 'chat'));
ALTER TABLE invitations ADD COLUMN media_mode text NOT NULL DEFAULT 'video' CHECK (media_mode IN ('video', 'audio', 'chat'));
ALTER TABLE call_sessions ADD COLUMN media_mode text NOT NULL DEFAULT 'video' CHECK (media_mode IN ('video', 'audio', 'chat'));
