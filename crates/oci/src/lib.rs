//! Image formats, pure: digests, references (`busybox` → `docker.io/library/busybox:latest`),
//! media types, manifests, indexes and image configs (OCI and Docker schema2), and layer tars —
//! applying them to a directory (whiteouts, opaque dirs, hard links; nothing escapes the target)
//! and producing them from a diff.
