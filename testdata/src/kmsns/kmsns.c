// SPDX-License-Identifier: GPL-2.0
/*
 * kmsns: uses dma_buf_get, which vmlinux exports in the DMA_BUF symbol
 * namespace, and imports that namespace (modinfo import_ns=DMA_BUF).
 * kmsnons is the same module without the import.
 *
 * Build with: scripts/build-testdata-modules.sh
 *   (make -C /usr/src/linux-headers-6.1.0-57-amd64 M=$PWD/testdata/src/kmsns)
 */
#include <linux/dma-buf.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static int __init kmsns_init(void)
{
	pr_info("kmsns: dma_buf_get is %ps\n", dma_buf_get);
	return 0;
}

static void __exit kmsns_exit(void)
{
}

module_init(kmsns_init);
module_exit(kmsns_exit);
MODULE_LICENSE("GPL");
MODULE_IMPORT_NS(DMA_BUF);
MODULE_DESCRIPTION("check test module: imports the DMA_BUF namespace");
