/** The backend names a page can select (no tfjs here, so a page's main thread can list them cheaply). */
export type PortableBackendName = 'auto' | 'wasm' | 'webgl' | 'webgpu' | 'cpu';
export const PORTABLE_BACKEND_NAMES: readonly PortableBackendName[] = ['auto', 'wasm', 'webgl', 'webgpu', 'cpu'];
