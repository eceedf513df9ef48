export {
  DEFAULT_SNAPLEN,
  LinkType,
  PCAP_FILE_HEADER_LENGTH,
  PCAP_MAGIC_MICROS,
  PCAP_MAGIC_NANOS,
  PCAP_RECORD_HEADER_LENGTH,
} from "./pcap-format.js";
export { decodePcap, type PcapFile, type PcapRecord, PcapStreamReader } from "./pcap-reader.js";
export {
  type ByteSink,
  MemorySink,
  PcapWriter,
  type PcapWriterOptions,
  writableStreamSink,
} from "./pcap-writer.js";
