// Types for the part of janode 1.8 (plain JavaScript, no declarations) that janus-gateway.ts uses. Only that
// adapter imports janode; these shapes follow janode's src/connection.js, session.js, handle.js and
// plugins/videoroom-plugin.js.

declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface JanodeServerAddress {
    url: string;
    apisecret?: string;
  }

  export interface JanodeConfig {
    address: JanodeServerAddress | JanodeServerAddress[];
    retry_time_secs?: number;
    max_retries?: number;
    is_admin?: boolean;
    ws_options?: Record<string, unknown>;
  }

  export interface JanodeJsep {
    type: 'offer' | 'answer';
    sdp: string;
    e2ee?: boolean;
  }

  export interface JanodeCandidate {
    candidate?: string;
    sdpMid?: string | null;
    sdpMLineIndex?: number | null;
    completed?: boolean;
  }

  export class JanodeHandle extends EventEmitter {
    readonly id: number;
    detach(): Promise<void>;
    hangup(): Promise<unknown>;
    trickle(candidate: JanodeCandidate | JanodeCandidate[] | null): Promise<unknown>;
    trickleComplete(): Promise<unknown>;
    message(body: Record<string, unknown>, jsep?: JanodeJsep): Promise<unknown>;
  }

  export class JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H extends JanodeHandle>(plugin: { id: string; Handle: new (...args: never[]) => H }): Promise<H>;
    destroy(): Promise<void>;
  }

  export class JanodeConnection extends EventEmitter {
    readonly id: number;
    create(keepaliveSecs?: number): Promise<JanodeSession>;
    getInfo(): Promise<Record<string, unknown>>;
    close(): Promise<void>;
  }

  export interface JanodeLogger {
    setLevel(level: 'debug' | 'verb' | 'info' | 'warn' | 'error' | 'none'): string;
  }

  const Janode: {
    connect(config: JanodeConfig, key?: string | number | null): Promise<JanodeConnection>;
    Logger: JanodeLogger;
    EVENT: {
      CONNECTION_CLOSED: 'connection_closed';
      SESSION_DESTROYED: 'session_destroyed';
      HANDLE_DETACHED: 'handle_detached';
      HANDLE_ICE_FAILED: 'handle_ice_failed';
      HANDLE_HANGUP: 'handle_hangup';
      HANDLE_MEDIA: 'handle_media';
      HANDLE_WEBRTCUP: 'handle_webrtcup';
      HANDLE_SLOWLINK: 'handle_slowlink';
      HANDLE_TRICKLE: 'handle_trickle';
      CONNECTION_ERROR: 'connection_error';
    };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle, JanodeJsep } from 'janode';

  export interface VideoRoomPublisherInfo {
    feed: number;
    display?: string;
  }

  export interface VideoRoomJoined {
    room: number;
    feed: number;
    private_id: number;
    publishers: VideoRoomPublisherInfo[];
    jsep?: JanodeJsep;
  }

  export interface VideoRoomSubscribed {
    room: number;
    feed?: number;
    jsep?: JanodeJsep;
  }

  export interface VideoRoomConfigured {
    configured: 'ok';
    feed?: number;
    jsep?: JanodeJsep;
  }

  export class VideoRoomHandle extends JanodeHandle {
    feed: number | null;
    room: number | null;
    create(params: {
      room?: number;
      description?: string;
      max_publishers?: number;
      permanent?: boolean;
      is_private?: boolean;
      secret?: string;
      pin?: string;
      admin_key?: string;
      bitrate?: number;
      fir_freq?: number;
      audiocodec?: string;
      videocodec?: string;
      require_pvtid?: boolean;
      notify_joining?: boolean;
      record?: boolean;
      rec_dir?: string;
    }): Promise<{ room: number; permanent: boolean }>;
    destroy(params: { room: number; permanent?: boolean; secret?: string }): Promise<{ room: number }>;
    exists(params: { room: number }): Promise<{ room: number; exists: boolean }>;
    joinConfigurePublisher(params: {
      room: number;
      feed?: number;
      audio?: boolean;
      video?: boolean;
      display?: string;
      pin?: string;
      record?: boolean;
      filename?: string;
      bitrate?: number;
      jsep: JanodeJsep;
    }): Promise<VideoRoomJoined>;
    configure(params: {
      audio?: boolean;
      video?: boolean;
      record?: boolean;
      filename?: string;
      restart?: boolean;
      update?: boolean;
      keyframe?: boolean;
      jsep?: JanodeJsep;
    }): Promise<VideoRoomConfigured>;
    joinSubscriber(params: { room: number; feed: number; pin?: string; private_id?: number; audio?: boolean; video?: boolean }): Promise<VideoRoomSubscribed>;
    start(params: { jsep: JanodeJsep }): Promise<unknown>;
    leave(): Promise<unknown>;
  }

  const VideoRoomPlugin: {
    id: 'janus.plugin.videoroom';
    Handle: typeof VideoRoomHandle;
    EVENT: {
      VIDEOROOM_PUB_PEER_JOINED: string;
      VIDEOROOM_PUB_LIST: string;
      VIDEOROOM_DESTROYED: string;
      VIDEOROOM_UNPUBLISHED: string;
      VIDEOROOM_LEAVING: string;
      VIDEOROOM_CONFIGURED: string;
      VIDEOROOM_SLOWLINK: string;
      VIDEOROOM_KICKED: string;
      VIDEOROOM_UPDATED: string;
      VIDEOROOM_ERROR: string;
    };
  };
  export default VideoRoomPlugin;
}
