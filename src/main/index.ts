// The Electron main process (issue 5). Thin: windows, dialogs, IPC binding, utility processes.
import { app } from 'electron'

app.whenReady().then(() => undefined)
