// SPDX-License-Identifier: GPL-2.0
/*
 * kmsparam: one module parameter of every type the kernel's parse_args()
 * knows (kernel/params.c), plus an array, a copied string, an unsafe
 * parameter and a parameter with the module's own kernel_param_ops, for
 * kmodscope's parameter checks. Its init and exit print nothing, so a
 * load's kernel messages are the loader's own.
 *
 * Build with: scripts/build-testdata-modules.sh
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int p_int = 1;
module_param(p_int, int, 0444);
MODULE_PARM_DESC(p_int, "an int");
static unsigned int p_uint;
module_param(p_uint, uint, 0444);
static long p_long;
module_param(p_long, long, 0444);
static unsigned long p_ulong;
module_param(p_ulong, ulong, 0444);
static unsigned long long p_ullong;
module_param(p_ullong, ullong, 0444);
static short p_short;
module_param(p_short, short, 0444);
static unsigned short p_ushort;
module_param(p_ushort, ushort, 0444);
static unsigned char p_byte;
module_param(p_byte, byte, 0444);
static unsigned int p_hexint;
module_param(p_hexint, hexint, 0444);
static bool p_bool;
module_param(p_bool, bool, 0444);
static bool p_bool_on = true;
module_param(p_bool_on, bool_enable_only, 0644);
static bool p_bool_eo;
module_param(p_bool_eo, bool_enable_only, 0644);
static bool p_invbool;
module_param(p_invbool, invbool, 0444);
static int p_bint;
module_param(p_bint, bint, 0444);
static char *p_charp = "default";
module_param(p_charp, charp, 0444);
static char p_string[8] = "abc";
module_param_string(p_string, p_string, sizeof(p_string), 0444);
static int p_array[3];
static unsigned int p_array_num;
module_param_array(p_array, int, &p_array_num, 0444);
static bool p_barray[2];
module_param_array(p_barray, bool, NULL, 0444);
static char *p_carray[2];
module_param_array(p_carray, charp, NULL, 0444);
static int p_dash_name;
module_param(p_dash_name, int, 0444);
static int p_unsafe;
module_param_unsafe(p_unsafe, int, 0444);

static int kmsparam_set_custom(const char *val, const struct kernel_param *kp)
{
	/* Accepts only "ok": kmodscope cannot know that. */
	if (!val || strcmp(val, "ok"))
		return -EINVAL;
	return param_set_int("1", kp);
}

static const struct kernel_param_ops kmsparam_custom_ops = {
	.set = kmsparam_set_custom,
	.get = param_get_int,
};
static int p_custom;
module_param_cb(p_custom, &kmsparam_custom_ops, &p_custom, 0444);

static const struct kernel_param_ops kmsparam_noarg_ops = {
	.flags = KERNEL_PARAM_OPS_FL_NOARG,
	.set = param_set_bool,
	.get = param_get_bool,
};
static bool p_noarg;
module_param_cb(p_noarg, &kmsparam_noarg_ops, &p_noarg, 0444);

static int __init kmsparam_init(void)
{
	return 0;
}

static void __exit kmsparam_exit(void)
{
}

module_init(kmsparam_init);
module_exit(kmsparam_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmodscope test module: parameters of every type");
