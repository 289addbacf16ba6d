#!/usr/bin/env bash
# Everything a fresh machine of this kind needs beyond the Rust toolchain it ships with.
# Idempotent; safe to run before every job.
set -euo pipefail
cd "$(dirname "$0")/.."

have() { command -v "$1" >/dev/null 2>&1; }

if ! have cargo; then
  echo "setup: cargo is not installed; this project needs the Rust toolchain (rustup, Rust 1.95)" >&2
  exit 1
fi
# rustfmt and clippy ship with the toolchain here; add them where they are missing.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  rustup component add rustfmt clippy
fi
