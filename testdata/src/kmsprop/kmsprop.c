// SPDX-License-Identifier: GPL-2.0
/*
 * kmsprop: a "vendor" module: MODULE_LICENSE("Proprietary") and a call of
 * the GPL-only export ktime_get. modpost refuses to link it ("GPL-incompatible
 * module kmsprop.ko uses GPL-only symbol 'ktime_get'"), so
 * scripts/build-testdata-modules.sh builds it the way a vendor working
 * around that check would: against a copy of the kernel's Module.symvers in
 * which ktime_get is an ordinary EXPORT_SYMBOL (same CRC). The kernel then
 * taints P and does not let it see the GPL-only symbol.
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/timekeeping.h>

static int __init kmsprop_init(void)
{
	pr_info("kmsprop: up for %lld ms\n", ktime_to_ms(ktime_get()));
	return 0;
}

static void __exit kmsprop_exit(void)
{
}

module_init(kmsprop_init);
module_exit(kmsprop_exit);
MODULE_LICENSE("Proprietary");
MODULE_DESCRIPTION("check test module: proprietary, uses a GPL-only export");
