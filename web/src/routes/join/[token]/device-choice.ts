// The camera and microphone the customer tried in the device check, kept for the call in this tab only.
const KEY = 'kyc-join-devices';

export interface DeviceChoice {
  camera: string | null;
  microphone: string | null;
}

export function saveDeviceChoice(choice: DeviceChoice): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(choice));
  } catch {
    // Storage refused (private mode): the call opens the default devices.
  }
}

export function loadDeviceChoice(): DeviceChoice {
  try {
    const value: unknown = JSON.parse(sessionStorage.getItem(KEY) ?? 'null');
    if (typeof value === 'object' && value !== null) {
      const { camera, microphone } = value as Record<string, unknown>;
      return { camera: typeof camera === 'string' ? camera : null, microphone: typeof microphone === 'string' ? microphone : null };
    }
  } catch {
    // Unreadable: fall back to the defaults.
  }
  return { camera: null, microphone: null };
}

/** What the call asks getUserMedia for: the devices that passed the check (preferred, not required). */
export function callConstraints(choice: DeviceChoice): MediaStreamConstraints {
  return {
    audio: choice.microphone ? { deviceId: choice.microphone } : true,
    video: {
      width: { ideal: 640 },
      height: { ideal: 480 },
      frameRate: { ideal: 20 },
      ...(choice.camera ? { deviceId: choice.camera } : { facingMode: 'user' }),
    },
  };
}
