/**
 * Binds the contract's methods to Electron IPC: one `ipcMain.handle` per method name
 * taken from the contract (so no channel name is written by hand), each request's
 * sender checked against our window and renderer, and each payload validated by
 * dispatch() before a service sees it. Takes Electron's objects as parameters so the
 * rules are tested in plain Node with fakes.
 */
import type { IpcMainInvokeEvent } from 'electron'
import { methodNames, type Handlers } from '../shared/contract'
import { dispatch } from '../core/services/dispatch'
import { callChannelOf, type CallReply } from '../preload/channels'

/** Who may call: our window's web contents, showing our renderer. */
export interface TrustedRenderer {
  /** webContents.id of the main window (null before it exists: nobody is trusted). */
  webContentsId(): number | null
  /** The renderer's URL: the dev server's origin in development, the index.html file URL in production. */
  rendererUrl: string
}

type SenderOf = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>

/**
 * True when the request comes from a frame of our window that shows our renderer: the
 * same web contents id, and a frame URL on the dev server's origin or exactly our
 * index.html. A page that navigated elsewhere, another window, or a frame of a
 * foreign origin is refused.
 */
export function isTrustedSender(event: SenderOf, trusted: TrustedRenderer): boolean {
  const ourId = trusted.webContentsId()
  if (ourId === null || event.sender.id !== ourId) return false
  const frameUrl = event.senderFrame?.url
  if (!frameUrl) return false
  return isRendererUrl(frameUrl, trusted.rendererUrl)
}

/** Whether `url` is a page of our renderer (query and hash ignored). */
export function isRendererUrl(url: string, rendererUrl: string): boolean {
  let actual: URL
  let expected: URL
  try {
    actual = new URL(url)
    expected = new URL(rendererUrl)
  } catch {
    return false
  }
  if (expected.protocol === 'file:') return actual.protocol === 'file:' && actual.pathname === expected.pathname
  return actual.origin === expected.origin
}

export interface IpcBinding {
  /** The channels bound, in contract order. */
  channels: string[]
  /** Removes every handler (window closed, app quitting). */
  unbind(): void
}

/**
 * Registers one handler per contract method. A refused sender gets an error reply and
 * the service is never called; a payload the method's schema rejects is answered by
 * dispatch() with the schema's complaint, also before the service runs.
 */
export function bindContract(
  ipcMain: Pick<Electron.IpcMain, 'handle' | 'removeHandler'>,
  handlers: Handlers,
  trusted: TrustedRenderer,
  onRefused: (channel: string, frameUrl: string | undefined) => void = () => undefined
): IpcBinding {
  const channels: string[] = []
  for (const method of methodNames) {
    const channel = callChannelOf(method)
    ipcMain.handle(channel, async (event, input: unknown): Promise<CallReply> => {
      if (!isTrustedSender(event, trusted)) {
        onRefused(channel, event.senderFrame?.url)
        return { ok: false, error: { message: `Refused ${method}: the request did not come from ShardScope's window` } }
      }
      return dispatch(handlers, method, input)
    })
    channels.push(channel)
  }
  return {
    channels,
    unbind() {
      for (const channel of channels) ipcMain.removeHandler(channel)
    }
  }
}
