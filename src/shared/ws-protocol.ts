/**
 * The serve host's WebSocket frames, one JSON object per message. The client sends
 * requests; the server answers each with a response of the same id and pushes
 * events to every connected client. The contract (./contract) says what a method's
 * input and output are; this file only says how they are framed.
 */
import { z } from 'zod'

/** WebSocket path of the API, relative to the serve host's origin; the token goes in `?token=`. */
export const apiPath = '/api'
/** HTTP path prefix of sample images: `/media/<datasetId>/<split>/<index>/<field>?variant=thumb|full`. */
export const mediaPath = '/media'

export const RequestFrame = z.object({
  id: z.number().int(),
  method: z.string(),
  input: z.unknown().optional()
})
export type RequestFrame = z.infer<typeof RequestFrame>

export const ResponseFrame = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), value: z.unknown() }),
  z.object({
    id: z.number().int(),
    ok: z.literal(false),
    error: z.object({ message: z.string(), detail: z.string().optional() })
  })
])
export type ResponseFrame = z.infer<typeof ResponseFrame>

export const EventFrame = z.object({ event: z.string(), payload: z.unknown() })
export type EventFrame = z.infer<typeof EventFrame>

/** What a client receives: a response to one of its requests, or an event. */
export const ServerFrame = z.union([ResponseFrame, EventFrame])
export type ServerFrame = z.infer<typeof ServerFrame>

/** The media URL path for one field of one sample (URL-encoded segments, without origin or token). */
export function mediaUrlPath(
  datasetId: string,
  split: string,
  sampleIndex: number,
  field: string,
  variant: 'thumb' | 'full'
): string {
  const segments = [datasetId, split, String(sampleIndex), field].map(encodeURIComponent)
  return `${mediaPath}/${segments.join('/')}?variant=${variant}`
}
