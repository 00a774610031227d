// SPDX-License-Identifier: GPL-2.0
/*
 * kmsdebug: a tiny module built with debug info for kmodscope's strip tests:
 * a parameter, an exported function (used by kmsuser) and init/exit.
 *
 * Build with: scripts/build-testdata-modules.sh
 *   (make -C /usr/src/linux-headers-6.1.0-56-amd64 M=$PWD/testdata/src/kmsdebug)
 */
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int kmsdebug_level = 3;
module_param(kmsdebug_level, int, 0644);
MODULE_PARM_DESC(kmsdebug_level, "how loud kmsdebug is (0-7)");

static char *kmsdebug_tag = "kms";
module_param(kmsdebug_tag, charp, 0444);
MODULE_PARM_DESC(kmsdebug_tag, "tag printed with every message");

int kmsdebug_add(int a, int b)
{
	return a + b + kmsdebug_level;
}
EXPORT_SYMBOL_GPL(kmsdebug_add);

static int __init kmsdebug_init(void)
{
	pr_info("kmsdebug: %s loaded, level %d, 2+3=%d\n", kmsdebug_tag, kmsdebug_level, kmsdebug_add(2, 3));
	return 0;
}

static void __exit kmsdebug_exit(void)
{
	pr_info("kmsdebug: unloaded\n");
}

module_init(kmsdebug_init);
module_exit(kmsdebug_exit);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("kmodscope tests");
MODULE_DESCRIPTION("strip test module: a parameter, an export, a function");
MODULE_VERSION("1.0");
