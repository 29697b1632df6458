/* rp_take.h - the head of every destructor: take ownership of an object from
 * the caller's pointer. STYLE.md's rule for x_free(struct x **xp) (accepts NULL
 * and NULLs the caller's pointer) written once:
 *
 *	struct x *x = rp_take(xp);
 *
 *	if (x == NULL)
 *		return;
 *
 * rp_take(xp) returns *xp and sets *xp to NULL; xp == NULL or *xp == NULL
 * return NULL. The destructor works on the returned pointer only and never
 * reads *xp again. The macro only accepts a pointer to a pointer (T **). */
#ifndef RP_TAKE_H
#define RP_TAKE_H

#include <stddef.h>
#include <string.h>

/* pp is the address of an object pointer (T **); all object pointers share
 * void *'s representation (POSIX), and memcpy keeps the access well typed. */
static inline void *rp_take_ptr(void *pp)
{
	void *p = NULL;
	void *const none = NULL;

	if (pp == NULL)
		return NULL;
	memcpy(&p, pp, sizeof(p));
	memcpy(pp, &none, sizeof(none));
	return p;
}

/* The sizeof does not evaluate pp; it fails to compile unless pp is a T **. */
#define rp_take(pp) ((void)sizeof(**(pp)), rp_take_ptr(pp))

#endif
