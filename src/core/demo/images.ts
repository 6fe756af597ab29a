/**
 * The demo's pictures: each class is a coloured shape on a textured background, so a
 * small CNN separates classes within a few epochs. Class decides shape, hue and
 * background texture; each sample jitters position, size, brightness and adds noise,
 * so the task is not a lookup.
 */
import { createRandom, mixSeed } from './random'

const SHAPES = ['circle', 'square', 'triangle', 'ring', 'cross', 'diamond'] as const
const TEXTURES = ['plain', 'stripes', 'bars', 'checks'] as const
const HUE_NAMES = ['red', 'orange', 'yellow', 'lime', 'green', 'teal', 'cyan', 'azure', 'blue', 'violet', 'magenta', 'pink']

export interface DemoClass {
  /** Tiny-ImageNet style WordNet id, e.g. `n01443537`. */
  wnid: string
  name: string
  shape: (typeof SHAPES)[number]
  texture: (typeof TEXTURES)[number]
  /** Foreground hue in [0, 1). */
  hue: number
}

/** Deterministic class list: ids ascending like Tiny ImageNet's sorted `wnids.txt`, names unique. */
export function describeClasses(count: number, seed: number): DemoClass[] {
  const random = createRandom(mixSeed(seed, 0xc1a55))
  const classes: DemoClass[] = []
  const used = new Set<string>()
  let id = 1443537 // Tiny ImageNet's first wnid, n01443537; later ids step upwards like WordNet offsets.
  for (let c = 0; c < count; c++) {
    // Golden-ratio steps spread hues evenly whatever the class count.
    const hue = (c * 0.6180339887) % 1
    const shape = SHAPES[c % SHAPES.length]!
    const texture = TEXTURES[Math.floor(c / SHAPES.length) % TEXTURES.length]!
    let name = `${HUE_NAMES[Math.floor(hue * HUE_NAMES.length)]} ${shape} on ${texture}`
    if (used.has(name)) name = `${name} ${c}`
    used.add(name)
    classes.push({ wnid: `n${String(id).padStart(8, '0')}`, name, shape, texture, hue })
    id += 1000 + Math.floor(random() * 90000)
  }
  return classes
}

function hueToRgb(h: number, s: number, v: number): [number, number, number] {
  const i = Math.floor(h * 6)
  const f = h * 6 - i
  const p = v * (1 - s)
  const q = v * (1 - f * s)
  const t = v * (1 - (1 - f) * s)
  const table: [number, number, number][] = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q]
  ]
  const [r, g, b] = table[((i % 6) + 6) % 6]!
  return [r * 255, g * 255, b * 255]
}

function insideShape(shape: DemoClass['shape'], dx: number, dy: number): boolean {
  const ax = Math.abs(dx)
  const ay = Math.abs(dy)
  switch (shape) {
    case 'circle':
      return dx * dx + dy * dy < 1
    case 'square':
      return ax < 0.8 && ay < 0.8
    case 'triangle':
      return dy > -0.9 && dy < 0.8 && ax < (dy + 0.9) * 0.6
    case 'ring': {
      const d = dx * dx + dy * dy
      return d < 1 && d > 0.36
    }
    case 'cross':
      return (ax < 0.28 && ay < 1) || (ay < 0.28 && ax < 1)
    case 'diamond':
      return ax + ay < 1
  }
}

function textureAt(texture: DemoClass['texture'], x: number, y: number, period: number): number {
  switch (texture) {
    case 'plain':
      return 0
    case 'stripes':
      return Math.floor(y / period) % 2 === 0 ? 1 : -1
    case 'bars':
      return Math.floor(x / period) % 2 === 0 ? 1 : -1
    case 'checks':
      return (Math.floor(x / period) + Math.floor(y / period)) % 2 === 0 ? 1 : -1
  }
}

/**
 * Render one sample of class `cls` as interleaved RGB bytes (height × width × 3).
 * Deterministic from (seed, stream, index).
 */
export function renderSample(cls: DemoClass, height: number, width: number, seed: number, stream: number, index: number): Uint8Array {
  const random = createRandom(mixSeed(seed, stream, index))
  const pixels = new Uint8Array(height * width * 3)
  const size = Math.min(height, width)
  const radius = size * (0.26 + random() * 0.1)
  const cx = width / 2 + (random() - 0.5) * size * 0.3
  const cy = height / 2 + (random() - 0.5) * size * 0.3
  const brightness = 0.75 + random() * 0.25
  const [fr, fg, fb] = hueToRgb((cls.hue + (random() - 0.5) * 0.03 + 1) % 1, 0.85, brightness)
  // Background: dim, low-saturation, a random hue each sample so colour alone stays the foreground's cue.
  const [br, bg, bb] = hueToRgb(random(), 0.2, 0.25 + random() * 0.2)
  const period = Math.max(2, Math.round(size / 10))
  const contrast = 18 + random() * 10
  const noise = 14
  let o = 0
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = insideShape(cls.shape, (x + 0.5 - cx) / radius, (y + 0.5 - cy) / radius)
      let r: number, g: number, b: number
      if (inside) {
        r = fr
        g = fg
        b = fb
      } else {
        const t = textureAt(cls.texture, x, y, period) * contrast
        r = br + t
        g = bg + t
        b = bb + t
      }
      const n = (random() - 0.5) * 2 * noise
      pixels[o++] = Math.max(0, Math.min(255, r + n))
      pixels[o++] = Math.max(0, Math.min(255, g + n))
      pixels[o++] = Math.max(0, Math.min(255, b + n))
    }
  }
  return pixels
}
