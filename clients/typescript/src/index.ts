/**
 * aura-wire for browsers and Node: decode AURA frames (spec/wire-format.md), run the client
 * session (spec/session.md) and speak it through `AuraSocket`, shaped like `WebSocket`.
 */
export * from "./errors.js";
export { Dictionary, sha256Hex, parseSections } from "./dictionary.js";
export { Decoder, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_PARAMS } from "./decoder.js";
export type { ContextParams, DecoderOptions, Decoded } from "./decoder.js";
export type { Codecs, ZstdModule, BrotliModule } from "./codecs.js";
export { parseHeader, packHeader, dictionarySeed, frameCheck, METHOD_NAMES } from "./frame.js";
export type { FrameHeader } from "./frame.js";
export { BrioDecoder, BrioShared } from "./brio.js";
export { TemplateSet } from "./templates/section.js";
export { TemplateState, parseInstructions } from "./templates/state.js";
export { decodePayload as decodeTemplatePayload } from "./templates/payload.js";
export { crc32, hex, fromHex } from "./bytes.js";
export { ClientSession, Stats, CONTEXT_REVISION, hintTokens } from "./session.js";
export type { Offered } from "./session.js";
export { decodeTransfer } from "./transfer.js";
export type { ClientEvent, SessionOptions, SessionState } from "./session.js";
export { parseControl, isControlFrame } from "./control.js";
export type { Control } from "./control.js";
export { ContextEncoder, encodeStateless } from "./encoder.js";
export { AuraSocket, SUBPROTOCOL, offerFor, wireCloseCode } from "./socket.js";
export type { AuraSocketOptions } from "./socket.js";
export { MemoryStore, CacheStore } from "./dictstore.js";
export type { DictionaryStore } from "./dictstore.js";
