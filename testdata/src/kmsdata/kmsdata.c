// SPDX-License-Identifier: GPL-2.0
/*
 * kmsdata: sections beyond .text: a static key (__jump_table), pr_debug
 * (__dyndbg), read-only-after-init data, init data, a namespaced export,
 * a bug table (WARN_ON) and string literals in .rodata.str*.
 *
 * Build with: scripts/build-testdata-modules.sh
 */
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>

static DEFINE_STATIC_KEY_FALSE(kmsdata_key);
static int kmsdata_table[16] __ro_after_init;
static const char *const kmsdata_names[] = { "alpha", "beta", "gamma" };
static int kmsdata_seed __initdata = 7;

int kmsdata_lookup(unsigned int i)
{
	if (static_branch_unlikely(&kmsdata_key))
		pr_debug("kmsdata: lookup %u\n", i);
	WARN_ON(i >= ARRAY_SIZE(kmsdata_table));
	return kmsdata_table[i % ARRAY_SIZE(kmsdata_table)];
}
EXPORT_SYMBOL_NS(kmsdata_lookup, KMODSCOPE_TEST);

static int __init kmsdata_init(void)
{
	int i;
	void *p = kmalloc(32, GFP_KERNEL);

	for (i = 0; i < ARRAY_SIZE(kmsdata_table); i++)
		kmsdata_table[i] = i * kmsdata_seed;
	kfree(p);
	pr_info("kmsdata: %s %d\n", kmsdata_names[kmsdata_lookup(1) % 3], kmsdata_lookup(2));
	return 0;
}

static void __exit kmsdata_exit(void)
{
	static_branch_disable(&kmsdata_key);
}

module_init(kmsdata_init);
module_exit(kmsdata_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("strip test module: jump table, dyndbg, ro_after_init, namespaced export");
