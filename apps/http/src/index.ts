export { MAX_PATTERN_BYTES, PATTERN, patternStream } from "./byte-pattern.js";
export {
  ConnectionHistory,
  type ConnectionHistoryOptions,
  type ConnectionRow,
  type ConnectionSample,
  connectionId,
} from "./connection-history.js";
export { type HttpHandlerOptions, httpHandler } from "./http-app.js";
export {
  type ConnectionTrace,
  type RecordedSegment,
  SegmentRecorder,
  type SegmentRecorderOptions,
} from "./segment-recorder.js";
export { sink } from "./sink.js";
export { type HttpApp, type HttpAppOptions, startHttpApp } from "./start-app.js";
export { plain, serveFile } from "./static-files.js";
export {
  type ConnectionReport,
  forwardedPeer,
  type HttpCounters,
  StatusModel,
  type StatusReport,
} from "./status-model.js";
export { STATUS_PAGE } from "./status-page.js";
