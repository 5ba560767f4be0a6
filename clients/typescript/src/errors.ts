/**
 * The error tree of the AURA client (mirrors the reference's `aura_wire/errors.py`).
 *
 *     AuraError
 *     ├── FrameError                 malformed or truncated frame        1002
 *     │   └── UnsupportedVersionError  frame of a version we do not know 1002
 *     ├── PayloadError               payload does not decode             1007
 *     ├── UnknownDictionaryError     dictionary not held / not matching  1007
 *     │   └── DictionaryMismatchError  frame coded with another dictionary 1007
 *     ├── UnknownTemplateError       template id not defined             1007
 *     ├── LimitError                 a configured limit was exceeded     1009
 *     ├── ContextDesyncError         context-mode state diverged         1007
 *     ├── DictionaryFormatError      dictionary malformed / bad hash     1007
 *     ├── ConfigError                invalid configuration (local)       1011
 *     └── ProtocolError              session protocol violated           1002
 *
 * Each error says whose fault it was (`remote`), where (`offset`, `field`) and which
 * WebSocket close code fits (`closeCode`). spec/wire-format.md §7, spec/session.md §7.
 */

export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_INVALID_DATA = 1007;
export const CLOSE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;

export class AuraError extends Error {
  readonly closeCode: number = CLOSE_INVALID_DATA;
  readonly remote: boolean = true;
  readonly reason: string;
  readonly offset: number | undefined;
  readonly field: string | undefined;

  constructor(reason: string, offset?: number, field?: string) {
    const where = [field !== undefined ? `field ${field}` : "", offset !== undefined ? `offset ${offset}` : ""]
      .filter((s) => s !== "")
      .join(", ");
    super(where ? `${reason} (${where})` : reason);
    this.reason = reason;
    this.offset = offset;
    this.field = field;
  }
}

export class FrameError extends AuraError {
  override readonly closeCode: number = CLOSE_PROTOCOL_ERROR;
}
export class UnsupportedVersionError extends FrameError {}
export class PayloadError extends AuraError {}
export class UnknownDictionaryError extends AuraError {}
/** A stateless D = 1 frame whose check byte does not match: coded with another dictionary (or
 * corrupted), spec/wire-format.md §5.4. */
export class DictionaryMismatchError extends UnknownDictionaryError {}
export class UnknownTemplateError extends AuraError {}
export class LimitError extends AuraError {
  override readonly closeCode: number = CLOSE_TOO_BIG;
}
export class ContextDesyncError extends AuraError {}
export class DictionaryFormatError extends AuraError {}
export class ConfigError extends AuraError {
  override readonly closeCode: number = CLOSE_INTERNAL_ERROR;
  override readonly remote: boolean = false;
}
export class ProtocolError extends AuraError {
  override readonly closeCode: number = CLOSE_PROTOCOL_ERROR;
}

/** Error classes by name, as the vector files name them. */
export const ERROR_CLASSES: Record<string, abstract new (...args: never[]) => AuraError> = {
  AuraError,
  FrameError,
  UnsupportedVersionError,
  PayloadError,
  UnknownDictionaryError,
  DictionaryMismatchError,
  UnknownTemplateError,
  LimitError,
  ContextDesyncError,
  DictionaryFormatError,
  ConfigError,
  ProtocolError,
};

// names survive minification: the vectors and applications name errors by class
for (const [n, c] of Object.entries(ERROR_CLASSES)) Object.defineProperty(c.prototype, "name", { value: n });
