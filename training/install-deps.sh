#!/usr/bin/env bash
# Debian packages the corpus, tokenizer and training scripts need (run as root).
set -euo pipefail
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
  python3-torch python3-numpy python3-sentencepiece libopenblas0-pthread \
  bible-kjv-text bible-kjv fortunes fortunes-min fortunes-de manpages manpages-dev groff-base man-db libc6-dev >/dev/null
