/**
 * @orthoquant/runtime — what every package shares: the tfjs instance and its backend,
 * seeded randomness, logging, and small tensor helpers.
 */
export { tf, initBackend, backendInfo, parseBackendChoice, registerFastMatMulGradient, BACKEND_CHOICES } from './backend.js';
export type { BackendChoice, BackendInfo } from './backend.js';
export { Rng, createRng, hashString } from './rng.js';
export type { RngState } from './rng.js';
export { createLogger, log, setLogger, envLogLevel, envLogFormat, formatLogLine, LOG_FORMATS } from './log.js';
export type { Logger, LoggerOptions, LogFormat } from './log.js';
export { setting, rawSetting, setEnvSetting, childEnv, settingsTable, parseChoice, SETTINGS, LOG_LEVELS, KERNEL_CHOICES } from './settings.js';
export type { SettingName, SettingValue, LogLevel, KernelChoice } from './settings.js';
export { show, keyPathText, getPath, formatSourceIssue, YamlSource, parseYamlSource, parseYamlWith, int, num, oneOf, bool, nonEmptyString, seedValue, issueMessages, parseWith } from './config.js';
export type { KeyPath, SourceIssue } from './config.js';
export { assertFinite, describeShape, InputError, isInputError } from './checks.js';
