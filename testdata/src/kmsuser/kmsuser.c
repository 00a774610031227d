// SPDX-License-Identifier: GPL-2.0
/*
 * kmsuser: uses kmsdebug's export (a module-to-module dependency, so
 * __versions carries a CRC of another module's symbol), a module alias and
 * an array parameter.
 *
 * Build with: scripts/build-testdata-modules.sh (builds kmsdebug first and
 * passes its Module.symvers through KBUILD_EXTRA_SYMBOLS).
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

int kmsdebug_add(int a, int b);

static int values[4] = { 1, 2, 3, 4 };
static int nvalues = 4;
module_param_array(values, int, &nvalues, 0444);
MODULE_PARM_DESC(values, "numbers to add up");

static int __init kmsuser_init(void)
{
	int i, sum = 0;

	for (i = 0; i < nvalues; i++)
		sum = kmsdebug_add(sum, values[i]);
	pr_info("kmsuser: sum %d\n", sum);
	return 0;
}

static void __exit kmsuser_exit(void)
{
}

module_init(kmsuser_init);
module_exit(kmsuser_exit);
MODULE_LICENSE("GPL");
MODULE_ALIAS("kmodscope-test-user");
MODULE_SOFTDEP("pre: kmsdebug");
MODULE_DESCRIPTION("strip test module: depends on kmsdebug");
