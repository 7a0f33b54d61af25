#include <ruby.h>

static VALUE add(VALUE self, VALUE a, VALUE b)
{
	(void)self;
	return LONG2NUM(NUM2LONG(a) + NUM2LONG(b));
}

void Init_sf_gem_native(void)
{
	VALUE m = rb_define_module("SfGemNative");
	rb_define_module_function(m, "add", add, 2);
}
