export { buildCorpus, type CorpusFrame, IP_A, IP_B, MAC_A, MAC_B } from "./corpus.js";
