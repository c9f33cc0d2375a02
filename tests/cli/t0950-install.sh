#!/bin/sh
# t0950-install: 'make install' puts the program, library, header and man
# pages under DESTDIR/PREFIX, and the installed header and library are enough
# to build a program against libanser.
. "$(dirname "$0")/lib.sh"

O=${ANSER_BUILD#"$ROOT"/}
make -s -C "$ROOT" install O="$O" DESTDIR="$T/dest" PREFIX=/usr >"$T/out" 2>&1
RC=$?
check "make install succeeds" test "$RC" -eq 0
for f in bin/anser lib/libanser.a include/anser.h share/man/man1/anser.1 \
	share/man/man1/anser-convert.1 share/man/man1/anser-inspect.1 \
	share/man/man5/anser-format.5; do
	check "installs $f" test -s "$T/dest/usr/$f"
done
"$T/dest/usr/bin/anser" --version >"$T/v" 2>&1
check "the installed program runs" grep -q '^anser ' "$T/v"
cat >"$T/prog.c" <<'C'
#include <anser.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	struct anser_err err = { 0 };
	struct anser_pth *p;
	if (argc < 2 || anser_pth_open(argv[1], &p, &err))
		return 1;
	printf("%zu\n", anser_pth_n_tensors(p));
	anser_pth_free(p);
	return 0;
}
C
# (Under 'make asan' the library needs the sanitizer runtime: ANSER_SAN.)
if cc -std=c11 -Wall -Werror ${ANSER_SAN:-} -I"$T/dest/usr/include" -o "$T/prog" "$T/prog.c" \
	"$T/dest/usr/lib/libanser.a" $(pkg-config --libs zlib libzip libcjson libcurl openblas) \
	-lm -lpthread 2>"$T/err"; then
	"$T/prog" "$STATIC/golden/micro.pth" >"$T/n"
	check "a program built on the installed header and library works" grep -q '^36$' "$T/n"
else
	not_ok "a program builds against the installed header and library"
fi
make -s -C "$ROOT" uninstall DESTDIR="$T/dest" PREFIX=/usr >/dev/null 2>&1
check "make uninstall removes them" sh -c '[ -z "$(find "$1" -type f)" ]' _ "$T/dest"
finish
