/**
 * @orthoquant/tasks/testing — fixtures for tests (kept out of the main barrel): tiny
 * datasets written in the real on-disk formats.
 */
export {};
