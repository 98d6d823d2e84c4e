/* rnnc — recurrent sequence models in C. Including this header includes the whole public API. */
#ifndef RNNC_H
#define RNNC_H

/* RNNC_VERSION and rnnc_version(): generated from CMake's project VERSION at build time. */
#include "rnnc/version.h"

#include "rnnc/status.h"
#include "rnnc/io.h"
#include "rnnc/rng.h"
#include "rnnc/utf8.h"
#include "rnnc/buf.h"
#include "rnnc/pretok.h"
#include "rnnc/bpe.h"
#include "rnnc/safetensors.h"
#include "rnnc/filekind.h"
#include "rnnc/rnn.h"
#include "rnnc/nn.h"
#include "rnnc/optim.h"
#include "rnnc/batch.h"
#include "rnnc/lm.h"
#include "rnnc/sample.h"
#include "rnnc/similar.h"
#include "rnnc/metrics.h"
#include "rnnc/scores.h"
#include "rnnc/plot.h"
#include "rnnc/generate.h"
#include "rnnc/seq2seq.h"
#include "rnnc/onnx.h"
#include "rnnc/seqmodel.h"
#include "rnnc/seqdata.h"
#include "rnnc/series.h"
#include "rnnc/tokenizer.h"
#include "rnnc/rundir.h"
#include "rnnc/comm.h"
#include "rnnc/run.h"
#include "rnnc/train.h"

#endif
