/**
 * What a JPEG's header says that jpeg-js does not act on itself. The segments before the first scan
 * (SOS) are walked here; every length is checked against the file, and the walk stops at anything
 * that is not a well-formed segment, leaving the damage for jpeg-js to report.
 */
import { exifOrientation, type Orientation } from './exif-orientation.js';

export interface JpegHeader {
  /** From the first APP1 Exif segment; 1 (upright) without one. */
  orientation: Orientation;
  /**
   * Its components are red, green and blue, not YCbCr, by libjpeg's rule (so what viewers show): no
   * JFIF APP0 (which says YCbCr), and an Adobe APP14 segment of transform 0 or, without one,
   * components named 'R', 'G' and 'B'. `cjpeg -rgb` writes these.
   */
  rgb: boolean;
}

const SOI_BYTES = 2;
const APP0 = 0xe0;
const APP1 = 0xe1;
const APP14 = 0xee;
const SOS = 0xda;
const EOI = 0xd9;
/** "Exif\0\0": the TIFF structure follows it. */
const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0, 0];
const JFIF_ID = [0x4a, 0x46, 0x49, 0x46, 0];
/** "Adobe", then version, flags0, flags1 (2 bytes each) and the transform byte. */
const ADOBE_ID = [0x41, 0x64, 0x6f, 0x62, 0x65];
const ADOBE_TRANSFORM_AT = 11;

/** A frame's header (SOF0–SOF15 but DHT, JPG and DAC): precision, height, width, count, then 3 bytes a component. */
const isFrame = (marker: number) => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
const FRAME_COUNT_AT = 5;
const FRAME_COMPONENT_BYTES = 3;
/** 'R', 'G', 'B' as component ids. */
const RGB_IDS = [0x52, 0x47, 0x42];

/** Markers with no length and no body: TEM and RST0–RST7. */
const standalone = (marker: number) => marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7);
const startsWith = (body: Uint8Array, id: readonly number[]) => body.length >= id.length && id.every((b, i) => body[i] === b);

export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  const header: JpegHeader = { orientation: 1, rgb: false };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sawExif = false;
  let sawJfif = false;
  let adobeTransform: number | null = null;
  let componentIds: number[] = [];
  for (let at = SOI_BYTES; at + 2 <= bytes.length; ) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++; // a fill byte before the marker
      continue;
    }
    if (marker === SOS || marker === EOI) break;
    if (standalone(marker)) {
      at += 2;
      continue;
    }
    if (at + 4 > bytes.length) break;
    const length = view.getUint16(at + 2); // counts itself, not the marker
    if (length < 2 || at + 2 + length > bytes.length) break;
    const body = bytes.subarray(at + 4, at + 2 + length);
    if (marker === APP1 && !sawExif && startsWith(body, EXIF_ID)) {
      sawExif = true;
      header.orientation = exifOrientation(body.subarray(EXIF_ID.length));
    } else if (marker === APP0 && startsWith(body, JFIF_ID)) {
      sawJfif = true;
    } else if (marker === APP14 && startsWith(body, ADOBE_ID) && body.length > ADOBE_TRANSFORM_AT) {
      adobeTransform = body[ADOBE_TRANSFORM_AT] as number; // the last one counts, as in libjpeg
    } else if (isFrame(marker) && body.length > FRAME_COUNT_AT) {
      const count = body[FRAME_COUNT_AT] as number;
      const ids = body.subarray(FRAME_COUNT_AT + 1);
      componentIds = Array.from({ length: Math.min(count, Math.floor(ids.length / FRAME_COMPONENT_BYTES)) }, (_, i) => ids[i * FRAME_COMPONENT_BYTES] as number);
    }
    at += 2 + length;
  }
  const named = componentIds.length === RGB_IDS.length && componentIds.every((id, i) => id === RGB_IDS[i]);
  header.rgb = !sawJfif && (adobeTransform !== null ? adobeTransform === 0 : named);
  return header;
}
