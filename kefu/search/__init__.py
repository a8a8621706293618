"""Help-center search: keyword (BM25, jieba for Chinese) and multilingual vector retrieval over
article sections, fused by rank. Start at `service.get_search_service`."""
