"""The clinic upload page: Uppy in the browser, sending studies to the gateway's tus endpoint."""
