#!/usr/bin/env bash
# The main job: build `secl` and check the bundled example policies.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p secl-cli
./target/release/secl check examples/policies "$@"
