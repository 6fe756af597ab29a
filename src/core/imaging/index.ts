/**
 * Imaging: decode sample images to RGB pixels, make thumbnails, measure pixel statistics.
 * sharp (libvips) with pixel limits for untrusted input; `fast-jpeg` decodes small JPEGs
 * quickly for the verifier. Knows nothing about tar or samples (src/core/wds) or checks
 * (src/core/verify).
 */
export { decodeImage, makeThumbnail, measurePixels, ImageDecodeError, DEFAULT_MAX_PIXELS, type DecodedImage, type DecodeImageOptions, type PixelStats, type Thumbnail } from './decode'
