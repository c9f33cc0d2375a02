/*
 * pth.h - streaming reads of tensors from a torch.save checkpoint.
 * The public side (open, list, read whole tensors) is in anser.h.
 */
#ifndef ANSER_PTH_H
#define ANSER_PTH_H

#include "../lib/internal.h"

struct pth_stream;

/* Starts reading tensor i of pth from its first element, in row-major order. */
enum anser_status pth_stream_open(struct anser_pth *pth, size_t i,
                                  struct pth_stream **out,
                                  struct anser_err *err);

/*
 * Reads the next n elements converted to `to` (F32, F16 or BF16) into dst.
 * *overflow grows by the number of finite values that became infinite.
 */
enum anser_status pth_stream_read(struct pth_stream *s, enum anser_dtype to,
                                  void *dst, uint64_t n, uint64_t *overflow,
                                  struct anser_err *err);
void pth_stream_close(struct pth_stream *s);

/* The tensor infos as one array (for anser_arch_*). */
const struct anser_tensor_info *pth_infos(const struct anser_pth *pth);

#endif /* ANSER_PTH_H */
