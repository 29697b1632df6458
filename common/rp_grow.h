/* rp_grow.h - room for one more element in a growable array: when it is
 * full, its allocation doubles (the first one holds `first` elements). The
 * caller keeps its own bound on the element count; the byte size is
 * checked against SIZE_MAX here.
 *
 *	if (rp_grow(&a->items, &a->cap, a->n, 16) < 0)
 *		return -1;
 *	a->items[a->n++] = item;
 */
#ifndef RP_GROW_H
#define RP_GROW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* arrp is the address of the array's pointer (T **), n the elements in
 * use, *cap the elements allocated, size sizeof(T). 0 when there is room
 * for element n; -1 out of memory (the array, its elements and *cap are
 * unchanged). All object pointers share void *'s representation (POSIX);
 * memcpy keeps the access well typed. */
static inline int rp_grow_ptr(void *arrp, size_t *cap, size_t n, size_t size, size_t first)
{
	void *p, *q;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : first;
	if (ncap <= n || ncap > SIZE_MAX / size)
		return -1;
	memcpy(&p, arrp, sizeof(p));
	q = realloc(p, ncap * size);
	if (q == NULL)
		return -1;           /* p, still the caller's, is untouched */
	memcpy(arrp, &q, sizeof(q)); /* q is now the caller's array */
	*cap = ncap;
	// cppcheck-suppress memleak ; q was stored through arrp by the memcpy above
	return 0;
}

/* The element size comes from the array's type; arrp must be a T **. */
#define rp_grow(arrp, cap, n, first) rp_grow_ptr((arrp), (cap), (n), sizeof(**(arrp)), (first))

#endif
