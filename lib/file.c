/*
 * file.c - telling file formats apart by their first bytes, so every command
 * can say what a file is when it is not what was expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"

enum anser_status anser_file_kind(const char *path, enum anser_file_kind *kind,
                                  struct anser_err *err)
{
	/* torch.save's pre-1.6 format starts with a pickled magic number. */
	static const uint8_t legacy[] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc,
	                                  0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
	                                  0x50, 0x19 };
	uint8_t b[16] = { 0 };
	ssize_t n;
	int fd;

	*kind = ANSER_FILE_UNKNOWN;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return anser_errno(err, "cannot open '%s'", path);
	do
		n = read(fd, b, sizeof(b));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		enum anser_status st = anser_errno(err, "cannot read '%s'", path);
		close(fd);
		return st;
	}
	close(fd);
	if (n >= 4 && !memcmp(b, "PK\3\4", 4))
		*kind = ANSER_FILE_PTH;
	else if (n >= 8 && !memcmp(b, "ANSERMDL", 8))
		*kind = ANSER_FILE_NATIVE;
	else if (n >= 14 && !memcmp(b, legacy, sizeof(legacy)))
		*kind = ANSER_FILE_PTH_LEGACY;
	else if (n >= 4 && !memcmp(b, "GGUF", 4))
		*kind = ANSER_FILE_GGUF;
	else if (n >= 9 && b[8] == '{' && !b[6] && !b[7])
		*kind = ANSER_FILE_SAFETENSORS; /* u64 header length, then JSON */
	return ANSER_OK;
}
