/* rnnc — ONNX export: a language model, or a seq2seq model's encoder and decoder, as ONNX graphs
 * that ONNX Runtime (or any runtime with the standard LSTM/GRU/RNN operators) runs with rnnc's
 * numbers.
 *
 * The files are ONNX ModelProto messages (IR version RNNC_ONNX_IR_VERSION, default-domain opset
 * RNNC_ONNX_OPSET), written by a small protobuf writer of our own, atomically. Weights are stored
 * inside the file as float32 initializers, so a file holds at most 2 GiB (protobuf's limit; a
 * bigger model is refused, never written in part). Graphs (B, T symbolic: "batch", "time"):
 *
 *   language model (rnnc_onnx_export_lm), and a seq2seq decoder (rnnc_onnx_export_s2s_decoder):
 *     inputs   ids     int64 (B, T)       batch first, as rnnc's windows; T = 1 for one step
 *              h0      float (L, B, H)    the state going in (zeros at the start)
 *              c0      float (L, B, H)    LSTM only
 *     outputs  logits  float (B, T, V)    the head's outputs (before the softmax)
 *              hn, cn  float (L, B, H)    the state after the last step: the next call's h0, c0
 *   seq2seq encoder (rnnc_onnx_export_s2s_encoder):
 *     inputs   src              int64 (B, S)   source ids, padded after each row's length
 *              src_lengths      int64 (B)      each row's length, in [1, S]
 *     outputs  encoder_outputs  float (B, S, D*H)  the top layer's outputs (0 at padded steps;
 *                                                  in reading order when sources are reversed)
 *              h0, c0           float (L, B, H)    the decoder's initial state (after the tanh
 *                                                  bridge of a bidirectional encoder): feed them
 *                                                  to the decoder's h0, c0
 *
 * Gates are reordered for ONNX (LSTM: PyTorch i,f,g,o -> ONNX i,o,f,c; GRU: r,z,n -> z,r,h with
 * linear_before_reset = 1, which is PyTorch's b_hn inside the reset product; Elman: the RNN
 * operator with Tanh or Relu), and B = [input-side biases, hidden-side biases]. Dropout is a
 * training-time operation and has no node. The model's metadata (configuration, tokenizer or
 * vocabularies) goes into the file's metadata_props. */
#ifndef RNNC_ONNX_H
#define RNNC_ONNX_H

#include "rnnc/lm.h"
#include "rnnc/seq2seq.h"
#include "rnnc/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RNNC_ONNX_IR_VERSION 7
#define RNNC_ONNX_OPSET 14

/* Each writes one file atomically. Errors: RNNC_ERR_ARG for a model the ONNX operators cannot
 * express (a cell type without an ONNX operator, a graph over 2 GiB), naming what; RNNC_ERR_IO
 * naming path. */
rnnc_status rnnc_onnx_export_lm(const rnnc_lm *m, const char *path);
rnnc_status rnnc_onnx_export_s2s_encoder(const rnnc_s2s_model *m, const char *path);
rnnc_status rnnc_onnx_export_s2s_decoder(const rnnc_s2s_model *m, const char *path);

#ifdef __cplusplus
}
#endif

#endif
