//! Build-context model (issue 4): `.dockerignore`, COPY/ADD source selection, BuildKit-style checksums.
