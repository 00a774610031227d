// SPDX-License-Identifier: GPL-2.0
/*
 * kmsgpl: the plain out-of-tree driver kmodscope's check tests start from:
 * GPL, one int parameter, a call of a GPL-only kernel export (ktime_get).
 * Loads with taints O (out of tree) and E (unsigned) on its own kernel.
 *
 * Build with: scripts/build-testdata-modules.sh
 *   (make -C /usr/src/linux-headers-6.1.0-57-amd64 M=$PWD/testdata/src/kmsgpl)
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/timekeeping.h>

static int kmsgpl_count = 3;
module_param(kmsgpl_count, int, 0444);
MODULE_PARM_DESC(kmsgpl_count, "how many times to count (default 3)");

static int __init kmsgpl_init(void)
{
	ktime_t t0 = ktime_get();

	pr_info("kmsgpl: count %d, up for %lld ms\n", kmsgpl_count, ktime_to_ms(t0));
	return 0;
}

static void __exit kmsgpl_exit(void)
{
}

module_init(kmsgpl_init);
module_exit(kmsgpl_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("check test module: GPL, a parameter, a GPL-only import");
