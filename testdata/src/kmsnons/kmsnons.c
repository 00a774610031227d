// SPDX-License-Identifier: GPL-2.0
/*
 * kmsnons: kmsns without MODULE_IMPORT_NS(DMA_BUF). modpost refuses it
 * ("module kmsnons uses symbol dma_buf_get from namespace DMA_BUF, but does
 * not import it"), so scripts/build-testdata-modules.sh builds it against a
 * copy of Module.symvers in which dma_buf_get has no namespace, as a vendor
 * working around the check would. The kernel still knows the namespace.
 */
#include <linux/dma-buf.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static int __init kmsnons_init(void)
{
	pr_info("kmsnons: dma_buf_get is %ps\n", dma_buf_get);
	return 0;
}

static void __exit kmsnons_exit(void)
{
}

module_init(kmsnons_init);
module_exit(kmsnons_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("check test module: uses the DMA_BUF namespace without importing it");
