/* Prints, as JSON, the size and the field offsets of every public struct that the Python package
 * mirrors in ctypes (python/rnnc/_lib.py). python/tests/test_abi.py compares them with ctypes'
 * own layout, so a struct changed in include/rnnc/ without its mirror fails the tests instead of
 * corrupting memory. Built with RNNC_PACKAGE (the Python package needs librnnc.so). */
#include <stddef.h>
#include <stdio.h>

#include "rnnc/rnnc.h"

static int n_structs, n_fields;

#define BEGIN(T) (printf("%s\n  \"%s\": {\"size\": %zu, \"fields\": {", n_structs++ ? "," : "", #T, sizeof(T)), n_fields = 0)
#define F(T, f) printf("%s\"%s\": %zu", n_fields++ ? ", " : "", #f, offsetof(T, f))
#define END() printf("}}")

int main(void) {
    printf("{");
    BEGIN(rnnc_token_bytes); F(rnnc_token_bytes, data); F(rnnc_token_bytes, len); END();
    BEGIN(rnnc_special_token); F(rnnc_special_token, text); F(rnnc_special_token, id); END();
    BEGIN(rnnc_ids); F(rnnc_ids, data); F(rnnc_ids, len); F(rnnc_ids, cap); END();
    BEGIN(rnnc_bytes); F(rnnc_bytes, data); F(rnnc_bytes, len); F(rnnc_bytes, cap); END();
    BEGIN(rnnc_tokenizer_train_opts);
    F(rnnc_tokenizer_train_opts, type); F(rnnc_tokenizer_train_opts, vocab_size); F(rnnc_tokenizer_train_opts, min_count);
    F(rnnc_tokenizer_train_opts, min_frequency); F(rnnc_tokenizer_train_opts, pattern); F(rnnc_tokenizer_train_opts, specials);
    F(rnnc_tokenizer_train_opts, n_specials); F(rnnc_tokenizer_train_opts, threads); F(rnnc_tokenizer_train_opts, progress);
    F(rnnc_tokenizer_train_opts, count_progress); F(rnnc_tokenizer_train_opts, progress_ctx);
    END();
    BEGIN(rnnc_lm_config);
    F(rnnc_lm_config, cell); F(rnnc_lm_config, vocab); F(rnnc_lm_config, embed); F(rnnc_lm_config, hidden);
    F(rnnc_lm_config, layers); F(rnnc_lm_config, dropout);
    END();
    BEGIN(rnnc_rnn_config);
    F(rnnc_rnn_config, cell); F(rnnc_rnn_config, input); F(rnnc_rnn_config, hidden); F(rnnc_rnn_config, layers);
    F(rnnc_rnn_config, bidirectional); F(rnnc_rnn_config, dropout);
    END();
    BEGIN(rnnc_lm);
    F(rnnc_lm, c); F(rnnc_lm, rnn); F(rnnc_lm, n_params); F(rnnc_lm, params); F(rnnc_lm, grads);
    F(rnnc_lm, off_embedding); F(rnnc_lm, off_rnn); F(rnnc_lm, off_head_w); F(rnnc_lm, off_head_b);
    F(rnnc_lm, n_meta); F(rnnc_lm, meta_keys); F(rnnc_lm, meta_values);
    END();
    BEGIN(rnnc_param_info);
    F(rnnc_param_info, name); F(rnnc_param_info, ndim); F(rnnc_param_info, shape); F(rnnc_param_info, offset);
    F(rnnc_param_info, size);
    END();
    BEGIN(rnnc_sample_params);
    F(rnnc_sample_params, temperature); F(rnnc_sample_params, top_k); F(rnnc_sample_params, top_p);
    END();
    BEGIN(rnnc_stream);
    F(rnnc_stream, ids); F(rnnc_stream, len); F(rnnc_stream, B); F(rnnc_stream, T); F(rnnc_stream, n);
    F(rnnc_stream, windows);
    END();
    BEGIN(rnnc_neighbor); F(rnnc_neighbor, id); F(rnnc_neighbor, sim); END();
    BEGIN(rnnc_optim_config);
    F(rnnc_optim_config, kind); F(rnnc_optim_config, lr); F(rnnc_optim_config, momentum);
    F(rnnc_optim_config, weight_decay); F(rnnc_optim_config, beta1); F(rnnc_optim_config, beta2);
    F(rnnc_optim_config, eps);
    END();
    BEGIN(rnnc_run_opts);
    F(rnnc_run_opts, steps); F(rnnc_run_opts, epochs); F(rnnc_run_opts, seconds); F(rnnc_run_opts, optim);
    F(rnnc_run_opts, clip); F(rnnc_run_opts, schedule); F(rnnc_run_opts, warmup); F(rnnc_run_opts, min_lr_ratio);
    F(rnnc_run_opts, log_every); F(rnnc_run_opts, eval_every); F(rnnc_run_opts, checkpoint_every);
    F(rnnc_run_opts, patience); F(rnnc_run_opts, seed); F(rnnc_run_opts, run_dir); F(rnnc_run_opts, model_out);
    F(rnnc_run_opts, force); F(rnnc_run_opts, comm); F(rnnc_run_opts, ema);
    END();
    BEGIN(rnnc_run_change);
    F(rnnc_run_change, steps); F(rnnc_run_change, epochs); F(rnnc_run_change, seconds); F(rnnc_run_change, log_every);
    F(rnnc_run_change, eval_every); F(rnnc_run_change, checkpoint_every); F(rnnc_run_change, patience);
    F(rnnc_run_change, task); F(rnnc_run_change, comm); F(rnnc_run_change, threads);
    END();
    BEGIN(rnnc_valid_result);
    F(rnnc_valid_result, m); F(rnnc_valid_result, n); F(rnnc_valid_result, score); F(rnnc_valid_result, line);
    END();
    BEGIN(rnnc_run_event);
    F(rnnc_run_event, kind); F(rnnc_run_event, step); F(rnnc_run_event, total_steps); F(rnnc_run_event, epoch);
    F(rnnc_run_event, tokens); F(rnnc_run_event, elapsed); F(rnnc_run_event, seconds_budget); F(rnnc_run_event, loss);
    F(rnnc_run_event, lr); F(rnnc_run_event, tokens_per_s); F(rnnc_run_event, valid); F(rnnc_run_event, improved);
    F(rnnc_run_event, resumed); F(rnnc_run_event, message); F(rnnc_run_event, allreduce_s); F(rnnc_run_event, wait_s);
    F(rnnc_run_event, threads); F(rnnc_run_event, threads_trained); F(rnnc_run_event, best_step);
    F(rnnc_run_event, best_line); F(rnnc_run_event, lr_was); F(rnnc_run_event, from_stdin);
    END();
    BEGIN(rnnc_lm_task_opts);
    F(rnnc_lm_task_opts, data); F(rnnc_lm_task_opts, n_data); F(rnnc_lm_task_opts, valid);
    F(rnnc_lm_task_opts, valid_fraction); F(rnnc_lm_task_opts, tokenizer); F(rnnc_lm_task_opts, cell);
    F(rnnc_lm_task_opts, layers); F(rnnc_lm_task_opts, hidden); F(rnnc_lm_task_opts, embed);
    F(rnnc_lm_task_opts, dropout); F(rnnc_lm_task_opts, unigram_bias); F(rnnc_lm_task_opts, batch);
    F(rnnc_lm_task_opts, seq); F(rnnc_lm_task_opts, eval_max_tokens);
    END();
    BEGIN(rnnc_s2s_config);
    F(rnnc_s2s_config, cell); F(rnnc_s2s_config, src_vocab); F(rnnc_s2s_config, tgt_vocab); F(rnnc_s2s_config, embed);
    F(rnnc_s2s_config, hidden); F(rnnc_s2s_config, layers); F(rnnc_s2s_config, bidirectional);
    F(rnnc_s2s_config, reverse_source); F(rnnc_s2s_config, dropout); F(rnnc_s2s_config, output_dropout);
    END();
    BEGIN(rnnc_s2s_task_opts);
    F(rnnc_s2s_task_opts, data); F(rnnc_s2s_task_opts, valid); F(rnnc_s2s_task_opts, source_tokenizer);
    F(rnnc_s2s_task_opts, target_tokenizer); F(rnnc_s2s_task_opts, model); F(rnnc_s2s_task_opts, batch);
    F(rnnc_s2s_task_opts, teacher_forcing); F(rnnc_s2s_task_opts, label_smoothing); F(rnnc_s2s_task_opts, max_source);
    F(rnnc_s2s_task_opts, max_target); F(rnnc_s2s_task_opts, skip_bad); F(rnnc_s2s_task_opts, skip_long);
    F(rnnc_s2s_task_opts, valid_max);
    END();
    BEGIN(rnnc_seq_config);
    F(rnnc_seq_config, kind); F(rnnc_seq_config, cell); F(rnnc_seq_config, vocab); F(rnnc_seq_config, embed);
    F(rnnc_seq_config, features); F(rnnc_seq_config, hidden); F(rnnc_seq_config, layers);
    F(rnnc_seq_config, bidirectional); F(rnnc_seq_config, dropout); F(rnnc_seq_config, output_dropout);
    F(rnnc_seq_config, pool); F(rnnc_seq_config, outputs); F(rnnc_seq_config, known); F(rnnc_seq_config, loss);
    F(rnnc_seq_config, max_len);
    END();
    BEGIN(rnnc_seq_task_opts);
    F(rnnc_seq_task_opts, kind); F(rnnc_seq_task_opts, data); F(rnnc_seq_task_opts, valid);
    F(rnnc_seq_task_opts, tokenizer); F(rnnc_seq_task_opts, model); F(rnnc_seq_task_opts, batch);
    F(rnnc_seq_task_opts, max_len); F(rnnc_seq_task_opts, skip_bad); F(rnnc_seq_task_opts, skip_long);
    F(rnnc_seq_task_opts, class_weight); F(rnnc_seq_task_opts, target); F(rnnc_seq_task_opts, covariates);
    F(rnnc_seq_task_opts, known); F(rnnc_seq_task_opts, context); F(rnnc_seq_task_opts, horizon);
    F(rnnc_seq_task_opts, season); F(rnnc_seq_task_opts, valid_last); F(rnnc_seq_task_opts, holdout);
    F(rnnc_seq_task_opts, relative);
    END();
    BEGIN(rnnc_s2s_vocab);
    F(rnnc_s2s_vocab, tok); F(rnnc_s2s_vocab, sym); F(rnnc_s2s_vocab, n); F(rnnc_s2s_vocab, cap);
    F(rnnc_s2s_vocab, table); F(rnnc_s2s_vocab, table_cap); F(rnnc_s2s_vocab, tk);
    END();
    BEGIN(rnnc_s2s_model);
    F(rnnc_s2s_model, c); F(rnnc_s2s_model, enc); F(rnnc_s2s_model, dec); F(rnnc_s2s_model, n_params);
    F(rnnc_s2s_model, params); F(rnnc_s2s_model, off_src_emb); F(rnnc_s2s_model, off_enc);
    F(rnnc_s2s_model, off_bridge_h); F(rnnc_s2s_model, off_bridge_c); F(rnnc_s2s_model, off_tgt_emb);
    F(rnnc_s2s_model, off_dec); F(rnnc_s2s_model, off_head_w); F(rnnc_s2s_model, off_head_b);
    F(rnnc_s2s_model, src_vocab); F(rnnc_s2s_model, tgt_vocab);
    END();
    BEGIN(rnnc_s2s_hyp);
    F(rnnc_s2s_hyp, ids); F(rnnc_s2s_hyp, len); F(rnnc_s2s_hyp, logprob); F(rnnc_s2s_hyp, score);
    F(rnnc_s2s_hyp, finished);
    END();
    /* the enum values and constants the package names */
    printf(",\n  \"constants\": {");
    n_fields = 0;
#define K(c) printf("%s\"%s\": %lld", n_fields++ ? ", " : "", #c, (long long)(c))
    K(RNNC_OK); K(RNNC_ERR_IO); K(RNNC_ERR_FORMAT); K(RNNC_ERR_ARG); K(RNNC_ERR_NOMEM); K(RNNC_ERR_RANGE);
    K(RNNC_ERR_NUMERIC); K(RNNC_ERR_INTERRUPTED);
    K(RNNC_TOKENIZER_CHAR); K(RNNC_TOKENIZER_WORD); K(RNNC_TOKENIZER_BPE);
    K(RNNC_SCHEDULE_COSINE); K(RNNC_SCHEDULE_CONSTANT);
    K(RNNC_RUN_STARTED); K(RNNC_RUN_PROGRESS); K(RNNC_RUN_REPORT); K(RNNC_RUN_VALID); K(RNNC_RUN_CHECKPOINT);
    K(RNNC_RUN_DONE); K(RNNC_MAX_METRICS);
    K(RNNC_SEQ_CLASSIFY); K(RNNC_SEQ_TAG); K(RNNC_SEQ_FORECAST);
    K(RNNC_TOK_N_RESERVED); K(RNNC_CHAR_FIRST); K(RNNC_S2S_EOS);
    printf("}\n}\n");
    return 0;
}
